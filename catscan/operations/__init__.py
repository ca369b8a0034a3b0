"""Survey operations: coverage map, processing status and history, nightly health QA."""
