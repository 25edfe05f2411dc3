"""Build the Triton kernels with the interpreter, so that they run on CPU tensors.

triton 3.8 reads TRITON_INTERPRET (``triton.knobs.runtime.interpret``) inside ``@triton.jit``,
i.e. when a kernel module — and triton's own ``triton.language.standard`` — is first imported,
and again when it lazily imports more of itself at a launch; so the variable must be set before
the first import and stay set. It is set here, at collection of this directory, unless the
environment already chose: ``TRITON_INTERPRET=0 pytest tests/test_kernels`` on a GPU machine
runs the same tests on CUDA with compiled kernels (see ``device`` in test_triton.py). The rest
of the session is unaffected on CPU: nothing else in gatelab's tests launches Triton.
"""

import os

os.environ.setdefault("TRITON_INTERPRET", "1")
