"""Answer generation: prompts, the LLM client and the extractive answerer."""
