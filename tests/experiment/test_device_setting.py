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


def test_auto_threads_one_for_small_steps_every_core_for_wide_ones(tmp_path):
    """train.threads: auto (the default) gives the tiny models one thread and wide steps (a 10k-word output layer,
    Quixer's 4**n-entry token unitaries) torch's default, restored after an earlier small run in the same
    process; an explicit number is kept, null restores the default."""
    from qhybrid.config import run_config_from_dict
    from qhybrid.device import DEFAULT_THREADS, SMALL_STEP, auto_threads
    from qhybrid.runs import load_run_corpus
    from qhybrid.train import Trainer, step_width

    assert auto_threads(32, 64, 65) == 1 and auto_threads(32, 32, 10_000) is None
    assert auto_threads(1, 1, SMALL_STEP - 1) == 1 and auto_threads(1, 1, SMALL_STEP) is None

    def cfg(threads="auto", batch=4, **model):
        return run_config_from_dict({"name": "t", "out_dir": str(tmp_path), "data": {"name": "toy_english"},
                                     "model": {"context": 16, "d_model": 16, "n_heads": 2, **model},
                                     "train": {"steps": 1, "batch_size": batch, "progress": False,
                                               "threads": threads}})
    small = cfg()
    assert run_config_from_dict({"data": {"name": "toy_english"}}).train.threads == "auto"
    vocab = load_run_corpus(small).tokenizer.vocab_size
    assert step_width(small, load_run_corpus(small)) == max(16, vocab)
    kernel = cfg(attention="kernel", quantum={"n_qubits": 10})
    assert step_width(kernel, load_run_corpus(kernel)) == 2 * 2 ** 10
    wide = cfg(batch=64, attention="quixer", quantum={"n_qubits": 5, "n_layers": 1})
    assert step_width(wide, load_run_corpus(wide)) == 4 ** 5 and 64 * 16 * 4 ** 5 >= SMALL_STEP
    before = torch.get_num_threads()
    try:
        Trainer(small)
        assert torch.get_num_threads() == 1
        Trainer(wide)                                                      # not left at the small run's 1
        assert torch.get_num_threads() == DEFAULT_THREADS
        Trainer(cfg(threads=1))
        assert torch.get_num_threads() == 1
        Trainer(cfg(threads=None))
        assert torch.get_num_threads() == DEFAULT_THREADS
    finally:
        torch.set_num_threads(before)
