"""Tiny GPT-2 and Llama models built from scratch, saved with save_pretrained and loaded back with
from_pretrained (the path a hub name takes), so the Hugging Face tests run offline in seconds."""
import pytest

FAMILIES = ("gpt2", "llama")
TARGETS = {"gpt2": ["c_attn", "c_proj", "c_fc"],
           "llama": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]}
VOCAB = 100
N_WRAPPED = {"gpt2": 8, "llama": 14}          # 2 layers; GPT-2 has a c_proj in attention and in the MLP


def tiny_config(family):
    """initializer_range=0.3 (GPT-2's default is 0.02): with near-zero random weights the tied LM head caps every
    logit near 0, so no adapter could fit anything; trained models' weights are that large."""
    transformers = pytest.importorskip("transformers")
    if family == "gpt2":
        return transformers.GPT2Config(n_layer=2, n_embd=32, n_head=2, vocab_size=VOCAB, n_positions=64,
                                       bos_token_id=0, eos_token_id=0, initializer_range=0.3)
    return transformers.LlamaConfig(num_hidden_layers=2, hidden_size=32, intermediate_size=64, num_attention_heads=2,
                                    num_key_value_heads=2, vocab_size=VOCAB, max_position_embeddings=64,
                                    bos_token_id=0, eos_token_id=0, pad_token_id=None,
                                    initializer_range=0.3)


@pytest.fixture(scope="session")
def saved_bases(tmp_path_factory):
    """{family: directory of a saved tiny base model} (built once per session, seeded)."""
    import torch
    transformers = pytest.importorskip("transformers")
    out = {}
    for family in FAMILIES:
        torch.manual_seed(0)
        model = transformers.AutoModelForCausalLM.from_config(tiny_config(family))
        path = tmp_path_factory.mktemp(f"tiny_{family}")
        model.save_pretrained(path)
        out[family] = path
    return out


@pytest.fixture
def load_base(saved_bases):
    """load_base(family) -> a fresh copy of the saved base model, in eval mode, via from_pretrained."""
    transformers = pytest.importorskip("transformers")

    def load(family):
        return transformers.AutoModelForCausalLM.from_pretrained(saved_bases[family]).eval()
    return load
