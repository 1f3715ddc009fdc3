"""The dataset's read/write side that users import without Beam.

``shards`` (WebDataset tars, byte ranges), ``index_io`` (the Parquet index), ``reader``
(:class:`ClipDataset`, version resolution), ``mixing`` (real + synthetic training streams).
Paths of the on-disk contract come from :mod:`schemas.layout`.
"""
