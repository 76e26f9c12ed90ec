"""The compression section of the experiment config: defaults, types and cross-field rules."""

import pytest

from bigmodel_tf.config import TFLITE_VARIANTS, config_hash, load_config
from bigmodel_tf.errors import ConfigError


def test_defaults_and_overrides():
    """Defaults prune to 80 % and convert all four variants; --set converts types."""
    c = load_config().compression
    assert (c.prune, c.target_sparsity, c.variants, c.qat) == (True, 0.8, list(TFLITE_VARIANTS),
                                                                False)
    c = load_config(None, ["compression.variants=[int8]", "compression.m_by_n=2:4",
                           "compression.leave_dense=conv_0,logits", "compression.int8_io=true"]
                    ).compression
    assert (c.variants, c.m_by_n, c.leave_dense, c.int8_io) == (["int8"], "2:4",
                                                                ["conv_0", "logits"], True)


@pytest.mark.parametrize(("override", "message"), [
    (["compression.m_by_n=2-4"], "compression.m_by_n: expected 'M:N'"),
    (["compression.m_by_n=4:4"], "compression.m_by_n: expected 'M:N'"),
    (["compression.target_sparsity=1.0"], "compression.target_sparsity: expected a value"),
    (["compression.variants=[int4]"], "compression.variants[0]: expected one of"),
    (["compression.variants=[int8,int8]"], "compression.variants: expected no repeats"),
    (["compression.variants=[]"], "expected at least one variant"),
    (["compression.pqat=true", "compression.prune=false"], "compression.pqat: needs"),
    (["compression.begin_step=10", "compression.end_step=5"], "compression.end_step"),
])
def test_invalid_values_are_refused(override, message):
    """Every rule names its key and what it expects."""
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_config(None, override)


def test_compression_keys_do_not_change_the_run_name():
    """Compressing does not change what training computes, so the run hash ignores it."""
    assert config_hash(load_config()) == config_hash(load_config(None, ["compression.qat=true"]))
