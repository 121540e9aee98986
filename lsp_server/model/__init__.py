"""The model side: vLLM client, prompts, token counting, output cleaning."""
