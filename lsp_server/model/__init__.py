"""The model side: the backends (vLLM over HTTP, Transformers in-process), prompts (completion,
review, fix, AI actions, vision), token counting, images as the model takes them (``images``), and
reading what the model wrote (cleaning, echoes, repetition, findings, action answers)."""
