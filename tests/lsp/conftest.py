"""Keeps the log to what the server answered: pygls logs every message it sends."""

import logging

logging.getLogger("pygls").setLevel(logging.WARNING)
