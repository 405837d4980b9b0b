"""Quantum adapters on tiny pretrained GPT-2 and Llama models: exact identity at init, frozen base,
gradients only in adapters, a matched LoRA twin, bit-exact save/load, and a short fine-tune."""
import subprocess
import sys

import pytest

pytest.importorskip("transformers")
pytest.importorskip("peft")

import torch  # noqa: E402
from conftest import FAMILIES, N_WRAPPED, TARGETS, VOCAB  # noqa: E402

from qhybrid.hf import (  # noqa: E402
    QuantumAdapterConfig,
    add_quantum_adapters,
    full_finetune,
    head_only,
    load_adapter_config,
    load_quantum_adapters,
    lora_twin,
    matched_lora_rank,
    print_trainable_parameters,
    quantum_adapters,
    remove_quantum_adapters,
    save_quantum_adapters,
    trainable_parameters,
)
from qhybrid.hf.adapters import projection_shape  # noqa: E402
from qhybrid.layers import is_quantum  # noqa: E402


def tokens(seed=0, B=2, T=12):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, VOCAB, (B, T), generator=g)


def adapted(load_base, family, **options):
    torch.manual_seed(1)
    return add_quantum_adapters(load_base(family), QuantumAdapterConfig(target_modules=TARGETS[family], **options))


@pytest.mark.parametrize("family", FAMILIES)
def test_adapted_model_computes_exactly_the_base_at_init(load_base, family):
    x = tokens()
    with torch.no_grad():
        ref = load_base(family)(x).logits
        model = adapted(load_base, family)
        out = model(x).logits
    assert len(quantum_adapters(model)) == N_WRAPPED[family]
    assert torch.equal(out, ref)
    with torch.no_grad():
        prompt = x[:, :4]
        kw = dict(max_new_tokens=4, do_sample=False, pad_token_id=0)
        assert torch.equal(model.generate(prompt, **kw), load_base(family).generate(prompt, **kw))
    remove_quantum_adapters(model)
    assert not quantum_adapters(model) and not hasattr(model, "qhybrid_adapter_config")
    assert set(model.state_dict()) == set(load_base(family).state_dict())


@pytest.mark.parametrize("family", FAMILIES)
def test_base_is_frozen_and_only_adapters_train(load_base, family):
    model = adapted(load_base, family)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all(".adapter." in n for n in trainable)
    config = model.qhybrid_adapter_config
    expected = sum(config.adapter_parameter_count(*projection_shape(m.base)) for m in quantum_adapters(model).values())
    counts = trainable_parameters(model)
    assert counts["trainable"] == expected
    n_quantum = sum(p.numel() for p in model.parameters() if p.requires_grad and is_quantum(p))
    assert counts["quantum"] == n_quantum == N_WRAPPED[family] * config.circuit().n_weights
    assert counts["classical"] == expected - n_quantum


@pytest.mark.parametrize("family", FAMILIES)
def test_gradients_reach_the_adapters_only_and_the_circuits_after_one_step(load_base, family):
    model = adapted(load_base, family).train()
    x = tokens()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    for _ in range(2):                              # step 1 moves the zero up-maps; step 2 reaches the circuits
        opt.zero_grad()
        model(x, labels=x).loss.backward()
        opt.step()
    for name, p in model.named_parameters():
        if ".adapter." in name:
            assert p.grad is not None and p.grad.abs().sum() > 0, name
        else:
            assert p.grad is None, name


@pytest.mark.parametrize("family", FAMILIES)
def test_lora_twin_matches_the_trainable_count_within_ten_percent(load_base, family):
    model = adapted(load_base, family)
    twin = lora_twin(load_base(family), model)
    q = trainable_parameters(model)["trainable"]
    n = sum(p.numel() for p in twin.parameters() if p.requires_grad)
    assert abs(n - q) <= 0.10 * q
    assert twin.peft_config["default"].r == matched_lora_rank(load_base(family), model)[0]
    lora_names = [name for name, p in twin.named_parameters() if p.requires_grad]
    assert lora_names and all("lora_" in name for name in lora_names)
    # the config alone gives the same rank as the adapted model
    assert matched_lora_rank(load_base(family), model.qhybrid_adapter_config) == matched_lora_rank(load_base(family),
                                                                                                  model)
    x = tokens()
    with torch.no_grad():                           # LoRA's B starts at zero too
        assert torch.allclose(twin(x).logits, load_base(family)(x).logits)


def test_no_matching_rank_is_a_clear_error(load_base):
    model = adapted(load_base, "gpt2")
    with pytest.raises(ValueError, match=r"closest, rank \d+, has"):
        lora_twin(load_base("gpt2"), model, tolerance=1e-4)


@pytest.mark.parametrize("family", FAMILIES)
def test_save_and_load_restore_the_adapters_bit_exactly(load_base, family, tmp_path):
    model = adapted(load_base, family, modules_to_save=["lm_head"] if family == "llama" else [])
    model.train()
    x = tokens()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    for _ in range(3):
        opt.zero_grad()
        model(x, labels=x).loss.backward()
        opt.step()
    model.eval()
    save_quantum_adapters(model, tmp_path / "adapter")
    assert {p.name for p in (tmp_path / "adapter").iterdir()} == {"qhybrid_adapter_config.json",
                                                                "qhybrid_adapter_model.safetensors"}
    assert load_adapter_config(tmp_path / "adapter") == model.qhybrid_adapter_config
    restored = load_quantum_adapters(load_base(family), tmp_path / "adapter").eval()
    with torch.no_grad():
        a, b = model(tokens(5)).logits, restored(tokens(5)).logits
        assert not torch.equal(a, load_base(family)(tokens(5)).logits)        # training changed something
    assert torch.equal(a, b)
    assert trainable_parameters(restored) == trainable_parameters(model)


def test_loading_onto_another_architecture_is_an_error(load_base, tmp_path):
    save_quantum_adapters(adapted(load_base, "gpt2"), tmp_path)
    with pytest.raises(ValueError, match="is not in this LlamaForCausalLM"):
        load_quantum_adapters(load_base("llama"), tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("family", FAMILIES)
def test_a_short_fine_tune_lowers_the_loss(load_base, family):
    model = adapted(load_base, family, n_qubits=3, n_layers=1).train()
    torch.manual_seed(0)
    x = torch.arange(16).repeat(4, 1) % 7 + 3                      # a repeated pattern the base does not know
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=0.1)
    losses = []
    for _ in range(20):
        opt.zero_grad()
        loss = model(x, labels=x).loss
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0], losses           # measured: 5.9 -> 2.4 (GPT-2), 5.4 -> 1.3


def test_unknown_target_lists_the_model_projections(load_base):
    with pytest.raises(ValueError, match=r"'c_atn' .*did you mean 'c_attn'.*c_attn, c_proj, c_fc, lm_head"):
        add_quantum_adapters(load_base("gpt2"), QuantumAdapterConfig(target_modules=["c_atn"]))
    with pytest.raises(ValueError, match="q_proj, k_proj"):
        add_quantum_adapters(load_base("llama"), QuantumAdapterConfig(target_modules=["c_attn"]))
    with pytest.raises(ValueError, match="is a LayerNorm"):
        add_quantum_adapters(load_base("gpt2"), QuantumAdapterConfig(target_modules=["ln_1"]))


def test_regex_targets_and_a_second_call_refused(load_base):
    config = QuantumAdapterConfig(target_modules=r".*\.1\.self_attn\.[qv]_proj")
    model = add_quantum_adapters(load_base("llama"), config)
    assert model.qhybrid_adapter_targets == ["model.layers.1.self_attn.q_proj", "model.layers.1.self_attn.v_proj"]
    with pytest.raises(ValueError, match="already has quantum adapters"):
        add_quantum_adapters(model, QuantumAdapterConfig(target_modules=["k_proj"]))


@pytest.mark.parametrize("bad, match", [
    ({"target_modules": []}, "non-empty list"), ({"n_qubits": 0}, "n_qubits must be a positive"),
    ({"ansatz": "strongly_entangeling"}, "strongly_entangling"), ({"shots": 0}, "shots"),
    ({"dropout": 1.0}, "dropout"), ({"target_modules": "("}, "regular expression"),
])
def test_config_is_validated(bad, match):
    with pytest.raises(ValueError, match=match):
        QuantumAdapterConfig(**bad)
    with pytest.raises(ValueError, match="did you mean 'n_qubits'"):
        QuantumAdapterConfig.from_dict({"n_qubit": 3})


def test_summary_and_the_classical_references(load_base, capsys):
    model = adapted(load_base, "gpt2")
    counts = print_trainable_parameters(model)
    assert f"quantum {counts['quantum']:,}" in capsys.readouterr().out
    base = head_only(load_base("llama"))
    assert [n for n, p in base.named_parameters() if p.requires_grad] == ["lm_head.weight"]
    gpt = head_only(load_base("gpt2"))                              # tied: the head is the token embedding
    assert trainable_parameters(gpt)["trainable"] == 32 * VOCAB
    assert trainable_parameters(full_finetune(gpt))["trainable"] == trainable_parameters(gpt)["all"]


def test_import_qhybrid_does_not_import_transformers():
    code = "import sys, qhybrid, qhybrid.hf; print('transformers' in sys.modules, 'peft' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_a_classifier_head_trains_with_the_adapters_and_counts_in_the_lora_match(tmp_path):
    transformers = pytest.importorskip("transformers")
    from conftest import tiny_config
    config = tiny_config("llama")
    config.num_labels, config.pad_token_id = 3, 0
    torch.manual_seed(0)
    transformers.AutoModelForSequenceClassification.from_config(config).save_pretrained(tmp_path)
    load = lambda: transformers.AutoModelForSequenceClassification.from_pretrained(tmp_path)
    model = add_quantum_adapters(load(), QuantumAdapterConfig(target_modules=["q_proj", "v_proj"],
                                                              modules_to_save=["score"]))
    assert model.get_submodule("score").weight.requires_grad
    assert [n for n, p in head_only(load()).named_parameters() if p.requires_grad] == ["score.weight"]
    twin = lora_twin(load(), model)
    n = sum(p.numel() for p in twin.parameters() if p.requires_grad)
    assert abs(n - trainable_parameters(model)["trainable"]) <= 0.10 * trainable_parameters(model)["trainable"]
    with pytest.raises(ValueError, match="matches no module; the model's projections are: q_proj"):
        add_quantum_adapters(load(), QuantumAdapterConfig(target_modules=r"nothing\..*"))
