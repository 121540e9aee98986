"""scripts/vllm/serve.sh --layout vision puts this folder on PYTHONPATH (the vLLM tier only): import transformers' Pixtral image processor without torchvision.

vLLM's pixtral.py imports one pure function (_num_image_tokens) from
transformers.models.pixtral.image_processing_pixtral, whose first lines import torchvision. The tier
has no torchvision (PyPI only has CUDA builds, which cannot load beside torch+cpu), and with
--tokenizer-mode mistral vLLM processes images with mistral-common, not with that module. So that one
module is loaded from its own source with the torchvision import left out; everything else is as
installed, and torchvision stays absent (transformers still sees it as unavailable).
"""

import importlib.abc
import importlib.util
import sys

_TARGET = "transformers.models.pixtral.image_processing_pixtral"
_IMPORT = "from torchvision.transforms.v2 import functional as tvF"


class _Loader(importlib.abc.SourceLoader):
    def __init__(self, path):
        self.path = path

    def get_filename(self, fullname):
        return self.path

    def get_data(self, path):
        with open(path, "rb") as handle:
            data = handle.read()
        if path == self.path:
            data = data.replace(_IMPORT.encode(), b"tvF = None  # torchvision is not installed (vLLM tier)")
        return data


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname != _TARGET:
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or not spec.origin:
            return None
        return importlib.util.spec_from_file_location(fullname, spec.origin, loader=_Loader(spec.origin))


sys.meta_path.insert(0, _Finder())
