"""Signal cores: numpy arrays in, results out. No LSL, files or protocols here."""
