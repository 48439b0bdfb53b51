"""geoalert: geopolitical event alerts from the world's news."""

__version__ = "0.1.0"
