"""The tune stage: hyperparameter search with KerasTuner over the experiment config.

``tune.space`` (space.py, validated against the real config keys) becomes KerasTuner
HyperParameters; ``tune.algorithm`` picks an oracle (oracles.py: KerasTuner's random,
grid, bayesian and hyperband; oracle_evolution.py: a genetic search); a KerasTuner Tuner
(tuner.py) runs every trial as the experiments layer's ``run``, isolated
(isolation.py) and logged to TensorBoard's HParams plugin (hparams.py). search.py runs,
resumes and reports a search (results.py), compare.py runs several algorithms side by
side, lr_finder.py is the learning-rate range test, distributed.py the chief/worker
set-up. Only settings.py, space.py and distributed.py are imported before TensorFlow.
"""
