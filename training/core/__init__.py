"""The trainer: plain torch + transformers. Never imports Django."""
