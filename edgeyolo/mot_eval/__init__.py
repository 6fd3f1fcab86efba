"""Multi-object tracking evaluation: TrackEval's metrics (HOTA, CLEAR/MOTA, IDF1) on MOTChallenge data."""
