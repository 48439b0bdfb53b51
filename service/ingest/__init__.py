"""Ingestion: fetch feeds, parse and normalise their items, append new articles to the stream."""
