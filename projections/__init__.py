"""Read models built from the log: statistics, timeliness, retention, signals."""
