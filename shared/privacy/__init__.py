"""Personal data: forgetting a person who has left (`forget.py` pure, `erase.py` over the stores)."""
