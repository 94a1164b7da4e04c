"""The figures table: every figure of the corpus as a row (extract), a question read into the same slots
(frames), and the match between the two that decides a numeric answer (match)."""
