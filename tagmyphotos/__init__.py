"""tagmyphotos."""
