"""The evolutionary oracle: its operators (seeded) and its search on a known space."""

import random
import statistics

import keras_tuner
import pytest
from keras_tuner.engine.trial import TrialStatus

from bigmodel_tf.tuning.oracle_evolution import (
    EvolutionOracle,
    crossover,
    elites,
    mutate,
    tournament,
)


def known_space():
    """Two floats, an unordered choice and a flag; the optimum is x=0.8, y=0.3, c, True."""
    hp = keras_tuner.HyperParameters()
    hp.Float("x", 0.0, 1.0)
    hp.Float("y", 0.0, 1.0)
    hp.Choice("c", ["a", "b", "c", "d"])
    hp.Boolean("flag")
    return hp


def known_objective(v):
    """Higher is better; 0.3 at the optimum."""
    return (-(v["x"] - 0.8) ** 2 - (v["y"] - 0.3) ** 2 + (0.2 if v["c"] == "c" else 0.0)
            + (0.1 if v["flag"] else 0.0))


def make_oracle(tmp_path, seed=1, **kwargs):
    """An EvolutionOracle over the known space, saving into tmp_path."""
    settings = {"population_size": 8, "tournament_size": 3, "crossover_rate": 0.7,
                "mutation_rate": 0.3, "elitism": 2, "max_trials": 48, **kwargs}
    oracle = EvolutionOracle(objective=keras_tuner.Objective("score", "max"),
                             hyperparameters=known_space(), seed=seed, **settings)
    oracle._set_project_dir(str(tmp_path), f"evolution-{seed}")
    return oracle


def finish(oracle, trial):
    """Score a running trial with the known objective and end it."""
    oracle.update_trial(trial.trial_id, {"score": known_objective(trial.hyperparameters.values)})
    trial.status = TrialStatus.COMPLETED
    oracle.end_trial(trial)


def run(oracle):
    """Create and finish trials one by one until the oracle stops."""
    while (trial := oracle.create_trial("tuner0")).status == TrialStatus.RUNNING:
        finish(oracle, trial)


CANDIDATES = [({"x": 0.1}, 0.5), ({"x": 0.2}, 0.9), ({"x": 0.3}, 0.1), ({"x": 0.4}, 0.7)]


def test_tournament_picks_the_best_entrant():
    rng = random.Random(0)
    assert tournament(CANDIDATES, 4, rng, maximize=True) == {"x": 0.2}
    assert tournament(CANDIDATES, 4, rng, maximize=False) == {"x": 0.3}
    picks = [tournament(CANDIDATES, 2, random.Random(s), True)["x"] for s in range(200)]
    assert picks.count(0.2) > picks.count(0.1) > picks.count(0.3) == 0  # the worst never wins
    assert picks == [tournament(CANDIDATES, 2, random.Random(s), True)["x"] for s in range(200)]


def test_crossover_takes_each_gene_from_a_parent():
    a, b = {"x": 1, "y": 2, "z": 3}, {"x": 10, "y": 20, "z": 30}
    children = [crossover(a, b, random.Random(s)) for s in range(50)]
    for child in children:
        assert set(child) == set(a) and all(child[k] in (a[k], b[k]) for k in a)
    assert {child["x"] for child in children} == {1, 10}


def test_mutation_rate_zero_and_one():
    hp = known_space()
    hp.Int("width", 16, 128, step=16)
    values = {"x": 0.5, "y": 0.5, "c": "a", "flag": False, "width": 64}
    assert mutate(values, hp, 0.0, random.Random(0)) == values
    for seed in range(30):
        child = mutate(values, hp, 1.0, random.Random(seed))
        assert child["flag"] is True and child["c"] != "a"
        assert 0.0 <= child["x"] <= 1.0 and child["width"] in range(16, 129, 16)


def test_elites_are_the_best_first():
    assert elites(CANDIDATES, 2, maximize=True) == [CANDIDATES[1], CANDIDATES[3]]
    assert elites(CANDIDATES, 1, maximize=False) == [CANDIDATES[2]]


def test_a_generation_waits_for_the_previous_one(tmp_path):
    oracle = make_oracle(tmp_path, population_size=3, tournament_size=2, elitism=1)
    running = [oracle.create_trial(f"tuner{i}") for i in range(3)]
    assert [t.status for t in running] == [TrialStatus.RUNNING] * 3
    assert oracle.create_trial("tuner3").status == TrialStatus.IDLE
    for trial in running:
        finish(oracle, trial)
    child = oracle.create_trial("tuner3")
    assert child.status == TrialStatus.RUNNING and oracle.generation_of[child.trial_id] == 1


def test_elites_of_earlier_generations_stay_parents(tmp_path):
    oracle = make_oracle(tmp_path, population_size=4, tournament_size=2, elitism=1,
                         max_trials=8)
    run(oracle)
    for trial_id, generation in oracle.generation_of.items():
        if generation == 1:  # a generation worse than the one before
            oracle.trials[trial_id].score = -10.0
    best_of_first = elites(oracle.scored(range(1)), 1, maximize=True)[0]
    pool = oracle.parents(2)
    assert best_of_first in pool and len(pool) == 5  # generation 1 plus the elite


def test_state_survives_save_and_reload(tmp_path):
    oracle = make_oracle(tmp_path, max_trials=12)
    run(oracle)
    again = make_oracle(tmp_path, max_trials=12)
    again.reload()
    assert again.generation_of == oracle.generation_of
    assert (again.population_size, again.elitism) == (8, 2)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_later_generations_beat_the_first(tmp_path, seed):
    oracle = make_oracle(tmp_path, seed=seed)
    run(oracle)
    by_generation = {}
    for trial_id, generation in oracle.generation_of.items():
        by_generation.setdefault(generation, []).append(oracle.trials[trial_id].score)
    assert sorted(by_generation) == list(range(6))  # 48 trials, 8 per generation
    first, last = by_generation[0], by_generation[5]
    assert statistics.fmean(last) > statistics.fmean(first) + 0.1
    assert max(max(by_generation[g]) for g in range(1, 6)) > max(first)
