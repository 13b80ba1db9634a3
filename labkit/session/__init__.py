"""HDF5 session files: format, writer, reader, repair."""
