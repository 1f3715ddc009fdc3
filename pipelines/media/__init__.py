"""Video bytes in and out: H.264 MP4 encode/decode/probe (``video_io``) and cutting clips out of source videos (``video_clips``). PyAV only; no Beam."""
