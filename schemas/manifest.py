"""The manifest of a published dataset version: what is in it, how it was made, and that it passed."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from schemas.index import SCHEMA_VERSION


class FileEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="path relative to the version folder")
    sha256: str
    bytes: int


class Provenance(BaseModel):
    model_config = ConfigDict(extra="forbid")

    checkpoint_sha256: str
    real_index_sha256: str = Field(description="sha256 of the real clip index the generator was trained on")
    config: dict = Field(description="the full AugmentConfig of the run")
    code_version: str
    flow_run_id: str | None = None
    created_at: str = Field(description="UTC time, ISO 8601")


class ValidationSummary(BaseModel):
    model_config = ConfigDict(extra="forbid")

    success: bool
    evaluated: int
    failed: list[str]
    data_docs: str | None = Field(None, description="relative path of the Data Docs index page")


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: str = SCHEMA_VERSION
    dataset: str
    version: str
    clips: int
    class_names: list[str] = Field(description="label i is class_names[i]")
    counts: dict[str, int] = Field(description="clips per class name")
    clip_format: dict = Field(description="frames, height, width, fps, codec")
    index: FileEntry
    shards: list[FileEntry]
    provenance: Provenance
    validation: ValidationSummary
