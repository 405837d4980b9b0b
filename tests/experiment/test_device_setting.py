"""train.device: auto | cpu | cuda | cuda:N, with a clear error when CUDA is asked for without one."""
import pytest
import torch

from qhybrid.device import resolve_device


def test_auto_and_cpu():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto") == torch.device("cuda" if torch.cuda.is_available() else "cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present: asking for CUDA is valid here")
def test_cuda_without_a_gpu_is_refused_with_the_fix():
    with pytest.raises(ValueError, match=r"train.device = 'cuda', but torch sees no CUDA device.*use train.device=cpu"):
        resolve_device("cuda")


@pytest.mark.parametrize("bad", ["gpu", "cuda:x", "", "mps:0", 3])
def test_bad_forms_name_the_valid_ones(bad):
    with pytest.raises(ValueError, match="valid: auto, cpu, cuda, cuda:N"):
        resolve_device(bad)
