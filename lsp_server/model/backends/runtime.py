"""The model on its device: loaded once, then one generation at a time, on the device thread only.

A ``Generation`` is one request's state: its prompt (encoded here, off the event loop),
its grammar matcher, the tokens so far and the text assembled from them. ``Runtime.run``
drives ``model.generate`` with two hooks:

- a logits processor that asks llguidance which tokens the grammar allows next (the JSON
  schema of a review, or well-formed tool calls) and masks every other one, so the
  answer follows the grammar token by token whatever the weights are;
- a stopping criterion, called after every token, that hands the token to the text
  assembler (stop sequences, streamed deltas), and ends the generation when the caller
  has left (``cancelled``: within one decoding step), a stop sequence or the end token
  came, the time ran out, or a more urgent request is waiting (``should_yield``: the
  generation gives the device up and resumes later from its tokens so far).

Imports torch and transformers: only ``load_runtime`` (on the device thread) imports this module.
"""

from __future__ import annotations

import gc
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from transformers import LogitsProcessor, LogitsProcessorList, StoppingCriteria, StoppingCriteriaList

from lsp_server.model.backends.decoding import TextAssembler
from lsp_server.model.backends.device import Placement, PlacementError, choose, probe
from lsp_server.model.backends.mistral_chat import EncodedChat, MistralChat, bad_request, find_tokenizer_file
from lsp_server.model.backends.weights import LoadError, check_fits, context_length, load_model, locate
from lsp_server.model.backends.worker import YIELD, JobControl
from lsp_server.model.client import ModelError

log = logging.getLogger(__name__)


@dataclass
class Generation:
    """One request on the device; survives giving the device up to a more urgent one."""

    encode: Callable[[MistralChat], EncodedChat]
    max_tokens: int
    temperature: float
    stop: tuple[str, ...] = ()
    seed: int | None = None
    timeout_s: float = 60.0
    stream: bool = False
    emit: Callable[[str], None] | None = None  # final text deltas, called on the device thread
    # progress, filled in on the device
    prompt: list[int] = field(default_factory=list)
    images: tuple[Any, ...] = ()
    matcher: Any = None
    consumed: int = 0  # generated tokens the grammar matcher has seen
    generated: list[int] = field(default_factory=list)
    assembler: TextAssembler | None = None
    finish_reason: str | None = None
    deadline: float = 0.0
    device_seconds: float = 0.0
    preemptions: int = 0
    paused_at: float | None = None  # gave the device up then (time waiting again does not count)


@dataclass(frozen=True)
class GenerationResult:
    text: str  # the assembled text (stop sequences applied)
    tokens: list[int]  # generated ids, the end token excluded
    finish_reason: str  # "stop", "length" or "cancelled"
    prompt_tokens: int
    device_seconds: float
    preemptions: int


class _Steps(StoppingCriteria):
    """After every token: assemble text, and decide whether to stop."""

    def __init__(self, job: Generation, control: JobControl, eos_id: int, preemptible: bool) -> None:
        self.job = job
        self.control = control
        self.eos_id = eos_id
        self.preemptible = preemptible

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs: Any) -> torch.BoolTensor:
        job = self.job
        token = int(input_ids[0, -1])
        stop = False
        if token == self.eos_id:
            job.finish_reason, stop = "stop", True
        else:
            job.generated.append(token)
            assert job.assembler is not None
            delta = job.assembler.feed(token)
            if delta and job.emit is not None:
                job.emit(delta)
            if job.assembler.stopped:
                job.finish_reason, stop = "stop", True
        if not stop:
            if self.control.cancelled.is_set():
                job.finish_reason, stop = "cancelled", True
            elif job.stream and len(job.generated) == 1:
                job.deadline = float("inf")  # streams: the time limit is for the first token
            elif time.monotonic() > job.deadline:
                job.finish_reason, stop = "timeout", True
            elif self.preemptible and self.control.should_yield():
                job.finish_reason, stop = "paused", True
        return torch.full((input_ids.shape[0],), stop, dtype=torch.bool, device=input_ids.device)


class _GrammarMask(LogitsProcessor):
    """Only the tokens llguidance allows next keep their logits."""

    def __init__(self, job: Generation, eos_id: int, vocab: int) -> None:
        import llguidance.numpy as lgn

        self.job = job
        self.eos_id = eos_id
        self.vocab = vocab
        self._fill = lgn.fill_next_token_bitmask
        self.bits = lgn.allocate_token_bitmask(1, vocab)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        job = self.job
        for token in job.generated[job.consumed:]:
            job.consumed += 1
            if not job.matcher.consume_token(token):
                log.warning("grammar rejected a sampled token: %s", job.matcher.get_error())
        if job.matcher.is_error():
            allowed = torch.zeros(scores.shape[-1], dtype=torch.bool)
            allowed[self.eos_id] = True
        else:
            self._fill(job.matcher, self.bits)
            flags = np.unpackbits(self.bits[0].view(np.uint8), bitorder="little")[: self.vocab]
            allowed = torch.zeros(scores.shape[-1], dtype=torch.bool)
            width = min(flags.shape[0], scores.shape[-1])
            allowed[:width] = torch.from_numpy(flags[:width].astype(bool))
        return scores.masked_fill(~allowed.to(scores.device), float("-inf"))


class Runtime:
    """A loaded model with its mistral-common tokenizer."""

    def __init__(self, model: Any, chat: MistralChat, placement: Placement, max_model_len: int | None,
                 weights_bytes: int) -> None:
        self.model = model
        self.chat = chat
        self.placement = placement
        self.max_model_len = max_model_len
        self.weights_bytes = weights_bytes
        self._input_device = getattr(model, "device", torch.device(placement.device))
        self.threads = torch.get_num_threads()  # on the device thread, where the work happens
        self.vision = getattr(model.config, "vision_config", None) is not None

    def run(self, job: Generation, control: JobControl) -> GenerationResult | object:
        """Generate until done, cancelled, or asked to give the device up (returns ``YIELD``)."""
        started = time.monotonic()
        if job.assembler is None:
            self._prepare(job)
        elif job.paused_at is not None:
            job.deadline += started - job.paused_at
            job.paused_at = None
        try:
            self._generate(job, control)
        finally:
            job.device_seconds += time.monotonic() - started
        if job.finish_reason is None:
            job.finish_reason = "length" if len(job.generated) >= job.max_tokens else "stop"
        log.debug("generation: %d prompt tokens, %d generated of %d, %s, %.2f s on the device",
                  len(job.prompt), len(job.generated), job.max_tokens, job.finish_reason, job.device_seconds)
        if job.finish_reason == "paused":
            job.finish_reason = None
            job.preemptions += 1
            job.paused_at = time.monotonic()
            return YIELD
        if job.finish_reason == "timeout":
            raise ModelError("timeout", f"the model did not answer within {job.timeout_s:g} s")
        assert job.assembler is not None
        if job.finish_reason != "cancelled":
            rest = job.assembler.finish()
            if rest and job.emit is not None:
                job.emit(rest)
        return GenerationResult(job.assembler.text, list(job.generated), job.finish_reason, len(job.prompt),
                                job.device_seconds, job.preemptions)

    def _prepare(self, job: Generation) -> None:
        encoded = job.encode(self.chat)
        job.prompt = encoded.tokens
        job.images = encoded.images
        if job.images and not self.vision:
            raise bad_request(f"the model ({type(self.model).__name__}) has no vision encoder: images need "
                              "Mistral-Small-3.2 in the Hugging Face layout")
        limit = self.max_model_len
        if limit is not None:
            if len(job.prompt) >= limit:
                raise bad_request(f"the prompt has {len(job.prompt)} tokens; the model's context is {limit}")
            job.max_tokens = min(job.max_tokens, limit - len(job.prompt))
        if encoded.grammar is not None:
            import llguidance

            job.matcher = llguidance.LLMatcher(self.chat.llg_tokenizer(), encoded.grammar)
            if job.matcher.is_error():
                raise bad_request(f"the grammar does not compile: {job.matcher.get_error()[:300]}")
        job.assembler = TextAssembler(self.chat.token_bytes, job.stop)
        job.deadline = time.monotonic() + job.timeout_s
        if job.seed is not None:
            torch.manual_seed(job.seed)

    def _generate(self, job: Generation, control: JobControl) -> None:
        remaining = job.max_tokens - len(job.generated)
        if remaining <= 0:
            return
        config = self.model.generation_config.__class__.from_dict(self.model.generation_config.to_dict())
        greedy = job.temperature <= 0.0
        config.update(max_new_tokens=remaining, do_sample=not greedy, temperature=1.0 if greedy else job.temperature,
                      top_p=1.0, top_k=0, eos_token_id=self.chat.eos_id, pad_token_id=self.chat.eos_id)
        ids = torch.tensor([job.prompt + job.generated], dtype=torch.long, device=self._input_device)
        processors = LogitsProcessorList()
        if job.matcher is not None:
            processors.append(_GrammarMask(job, self.chat.eos_id, self.chat.vocab_size))
        steps = _Steps(job, control, self.chat.eos_id, preemptible=True)
        with torch.inference_mode():
            self.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), generation_config=config,
                                logits_processor=processors, stopping_criteria=StoppingCriteriaList([steps]),
                                **self._image_inputs(job.images))

    def _image_inputs(self, images: tuple[Any, ...]) -> dict[str, Any]:
        """``pixel_values`` (padded to the largest image) and ``image_sizes`` for the vision encoder."""
        if not images:
            return {}
        height = max(int(image.shape[1]) for image in images)
        width = max(int(image.shape[2]) for image in images)
        pixels = np.zeros((len(images), int(images[0].shape[0]), height, width), dtype=np.float32)
        for i, image in enumerate(images):
            pixels[i, :, : image.shape[1], : image.shape[2]] = image
        dtype = next(self.model.parameters()).dtype
        return {"pixel_values": torch.from_numpy(pixels).to(self._input_device, dtype),
                "image_sizes": torch.tensor([[int(im.shape[1]), int(im.shape[2])] for im in images],
                                            device=self._input_device)}

    def describe(self) -> dict[str, Any]:
        return {"device": self.placement.describe(), "dtype": self.placement.dtype,
                "maxModelLen": self.max_model_len, "tokenizer": self.chat.version,
                "weightsGB": round(self.weights_bytes / 1024**3, 2), "cpuThreads": self.threads}


def load_runtime(model: str, device: str, dtype: str) -> Runtime:
    """Find, check and load the model (on the device thread); raises ``LoadError``."""
    import transformers

    transformers.logging.set_verbosity_error()
    folder = locate(model)
    tokenizer_file = find_tokenizer_file(folder.path)
    if tokenizer_file is None:
        raise LoadError(f"{folder.path} has no tekken.json: the transformers backend encodes prompts with "
                        "mistral-common's tokenizer file")
    chat = MistralChat.from_file(tokenizer_file)
    try:
        placement = choose(device, dtype, probe())
    except PlacementError as exc:
        raise LoadError(str(exc)) from None
    if placement.device == "cpu":
        _cpu_threads()
    needed = check_fits(folder, placement)
    log.info("loading %s (%s layout) on %s in %s", folder.path, folder.layout, placement.describe(), placement.dtype)
    try:
        hf_model = load_model(folder, placement)
    except (torch.OutOfMemoryError, MemoryError) as exc:
        gc.collect()
        raise LoadError(f"the model does not fit on {placement.describe()} in {placement.dtype} "
                        f"(about {needed / 1024**3:.1f} GB): {str(exc)[:200]}") from None
    chat.llg_tokenizer()  # the grammar tokenizer (about a second), now rather than at the first review
    return Runtime(hf_model, chat, placement, context_length(hf_model.config), needed)


def _cpu_threads() -> None:
    """On the CPU, leave one core to the language server itself (unless OMP_NUM_THREADS says otherwise).

    torch's default, every core, makes each small operation wait for busy cores: on a 2-core
    machine with other work, one thread generates several times faster than two.
    """
    if os.environ.get("OMP_NUM_THREADS"):
        return
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    torch.set_num_threads(max(1, cores - 1))


def unload_runtime(runtime: Runtime) -> None:
    """Free the model's memory (the backend is closing)."""
    runtime.model = None
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
