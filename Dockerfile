# GPU training image for bigmodel_tf: its entrypoint is `bigmodel` and its default command
# `train`, so `docker run ... IMAGE` trains the default experiment and
# `docker run ... IMAGE COMMAND [options]` runs any command (train, evaluate, tune,
# compress, export, ...) as a non-root user. See docker/README.md:
#   docker build -t bigmodel-train .
#   docker run --gpus all --rm --user "$(id -u):$(id -g)" \
#     -v "$PWD/runs:/app/runs" -v "$PWD/saved_models:/app/saved_models" \
#     bigmodel-train train --set train.epochs=5
# The base image brings Python 3.11, TensorFlow 2.21 and CUDA (so not the [gpu] extra);
# `pip install` adds the package, its pinned dependencies (Keras 3.15, KerasTuner, ...) and
# the extras for compress (TF-MOT, tf_keras, LiteRT), ONNX export and MLflow tracking.
FROM tensorflow/tensorflow:2.21.0-gpu

# KERAS_HOME and MPLCONFIGDIR are writable for any uid, also under `docker run --user`
# (where HOME may be /).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    MPLBACKEND=Agg \
    KERAS_HOME=/tmp/.keras \
    MPLCONFIGDIR=/tmp/matplotlib

RUN useradd --create-home --uid 10001 --shell /bin/bash bigmodel

WORKDIR /app

# The install (the slow layer) comes before scripts/ and configs/, so editing those
# does not reinstall the dependencies.
COPY setup.cfg pyproject.toml README.md ./
COPY bigmodel_tf ./bigmodel_tf
RUN python -m pip install ".[compress,onnx,mlflow]"

COPY scripts ./scripts
COPY configs ./configs
# Code stays root-owned (read-only for the runtime user); only the outputs are writable.
RUN mkdir -p runs saved_models && chown bigmodel:bigmodel runs saved_models

USER bigmodel

ENTRYPOINT ["bigmodel"]
CMD ["train"]
