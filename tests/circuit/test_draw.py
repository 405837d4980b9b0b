"""Drawing: the text diagram and the matplotlib picture show every gate once, in order, with its kind."""
import pytest
from matplotlib.figure import Figure
from matplotlib.patches import Circle, Rectangle

import qhybrid
from qhybrid import Circuit, Input, Weight


def test_mpl_picture_has_a_box_per_gate_target_a_dot_per_control_and_the_key():
    c = Circuit(3)
    c.ry(0, Input(0)); c.h(1); c.cnot(0, 1); c.crx(1, 2, Weight(0))
    c.isingzz(0, 2, Input(1)); c.rot(2, *c.new_weights(3))
    c.observe("Z0", "X1 Y2")
    fig = c.draw("mpl")
    ax = fig.axes[0]
    boxes = [p for p in ax.patches if isinstance(p, Rectangle)]
    dots = [p for p in ax.patches if isinstance(p, Circle)]
    assert isinstance(fig, Figure) and len(boxes) == 1 + 1 + 1 + 1 + 2 + 1 and len(dots) == 2
    texts = [t.get_text() for t in ax.texts]
    assert {"RY(x0)", "H", "X", "RX(w0)", "IsingZZ(x1)", "Rot(w1,w2,w3)"} <= set(texts)
    assert "⟨Z0⟩" in texts and any("⟨X1 Y2⟩" in t for t in texts)
    colours = {b.get_facecolor() for b in boxes}
    assert len(colours) == 3                                   # data encoding, trainable, fixed
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["data encoding", "trainable", "fixed"]
    assert fig._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"           # a notebook shows it without pyplot


def test_text_drawing_and_bad_style():
    c = qhybrid.build_circuit(2, 1, "angle_y", "basic_entangler")
    text = c.draw()
    assert text.splitlines()[0].startswith("0: ─RY(x0)") and "⟨Z1⟩" in text.splitlines()[1]
    with pytest.raises(ValueError, match="draw style must be 'text' or 'mpl'"):
        c.draw("svg")
