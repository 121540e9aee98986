"""The model side: the backends (vLLM over HTTP, Transformers in-process), prompts (completion,
review, fix, AI actions), token counting, and reading what the model wrote (cleaning, echoes,
repetition, findings, action answers)."""
