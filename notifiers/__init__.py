"""Delivery channels: each turns one alert into one message to one target."""
