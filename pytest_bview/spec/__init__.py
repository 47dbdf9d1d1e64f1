"""The B-View 2 REST API as data (chapters 7, 8 and 9 of the vendor's spec v1.8)."""
