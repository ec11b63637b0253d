import ArgumentParser

// Entry point: parse arguments and map errors to exit codes (0 ok, 1 rejected/failed, 2 bad input, 3 internal).
Stockwerk.main()
