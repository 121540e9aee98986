"""The model side: the backends (vLLM over HTTP, Transformers in-process), prompts, token
counting, and reading what the model wrote (cleaning, echoes, repetition, findings)."""
