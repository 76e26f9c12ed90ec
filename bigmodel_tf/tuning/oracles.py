"""The search algorithms: ``tune.algorithm`` -> a KerasTuner Oracle.

random, grid, bayesian and hyperband are KerasTuner's own oracles; evolution is
``oracle_evolution.EvolutionOracle``. Two resume traps are handled here:
GridSearchOracle does not save its trial order (keras-team/keras-tuner#1055: a resumed
grid search dies with a KeyError), so ``ResumableGridSearchOracle`` adds it to its state;
Hyperband's own resume bug (#835) is fixed in 1.4.8, and tests/tuning resume every
algorithm after an interruption. Hyperband has no trial budget of its own, so
``tune.max_trials`` caps it like the others.
"""

from __future__ import annotations

import keras_tuner
from keras_tuner.oracles import (
    BayesianOptimizationOracle,
    GridSearchOracle,
    HyperbandOracle,
    RandomSearchOracle,
)

from bigmodel_tf.compat import grid_search_state, restore_grid_search_state
from bigmodel_tf.config import TuneConfig
from bigmodel_tf.tuning.oracle_evolution import EvolutionOracle
from bigmodel_tf.tuning.settings import direction


class ResumableGridSearchOracle(GridSearchOracle):
    """GridSearchOracle whose trial order survives a restart (keras-tuner#1055)."""

    def get_state(self):
        """The base state plus the grid order and the trials still to expand."""
        return {**super().get_state(), **grid_search_state(self)}

    def set_state(self, state):
        """Restore the grid order saved by ``get_state``."""
        super().set_state(state)
        restore_grid_search_state(self, state)


def build_oracle(t: TuneConfig, seed: int, hyperparameters) -> keras_tuner.Oracle:
    """The oracle of ``tune.algorithm`` over ``hyperparameters``, seeded by ``seed``."""
    common = {
        "objective": keras_tuner.Objective(t.objective, direction(t)),
        "hyperparameters": hyperparameters,
        "seed": seed,
        "max_consecutive_failed_trials": t.max_consecutive_failures,
    }
    if t.algorithm == "hyperband":
        oracle = HyperbandOracle(
            max_epochs=t.max_epochs, factor=t.hyperband_factor,
            hyperband_iterations=t.max_trials,  # never the limit: max_trials is
            allow_new_entries=False, tune_new_entries=False, **common,
        )
        oracle.max_trials = t.max_trials
        return oracle
    if t.algorithm == "evolution":
        return EvolutionOracle(
            max_trials=t.max_trials, population_size=t.population_size,
            tournament_size=t.tournament_size, crossover_rate=t.crossover_rate,
            mutation_rate=t.mutation_rate, elitism=t.elitism, **common,
        )
    kinds = {
        "random": (RandomSearchOracle, {}),
        "grid": (ResumableGridSearchOracle, {}),
        "bayesian": (BayesianOptimizationOracle, {"num_initial_points": t.initial_points}),
    }
    oracle_class, extra = kinds[t.algorithm]
    return oracle_class(max_trials=t.max_trials, allow_new_entries=False,
                        tune_new_entries=False, **extra, **common)
