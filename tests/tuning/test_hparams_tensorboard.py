"""The search's HParams are visible in TensorBoard: its HParams plugin, asked over HTTP as
the dashboard asks it, lists every trial with its values and final metrics."""

import json
import subprocess
import sys
import time
import urllib.request

from bigmodel_tf.tuning.search import run_search
from tests.evaluation.test_tensorboard_browser import free_port
from tests.tuning.conftest import tune_config


def post(url: str, body: dict) -> dict:
    """POST JSON to TensorBoard as its web page does; the decoded answer."""
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={
        "Content-Type": "application/json", "X-XSRF-Protected": "1"})
    return json.loads(urllib.request.urlopen(request, timeout=30).read())


def test_tensorboard_hparams_dashboard_lists_every_trial(tmp_path, fake_train):
    result = run_search(tune_config(), tmp_path / "search")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tensorboard.main", "--logdir", str(tmp_path / "search"),
         "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/data/plugin/hparams"
    try:
        deadline = time.time() + 120
        while True:
            try:
                experiment = post(f"{url}/experiment", {"experimentName": ""})
                break
            except OSError:
                assert time.time() < deadline and process.poll() is None, "no TensorBoard"
                time.sleep(0.5)
        groups = post(f"{url}/session_groups", {
            "experimentName": "", "colParams": [], "startIndex": 0, "sliceSize": 100,
            "allowedStatuses": ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE",
                                "STATUS_RUNNING"]})["sessionGroups"]
    finally:
        process.terminate()
        process.wait(timeout=30)
    shown = {info["name"] for info in experiment["hparamInfos"]}
    assert {"train.learning_rate", "model.width", "model.depth", "epochs"} <= shown
    assert len(groups) == len(result.rows) == 6
    for row in result.rows:
        (group,) = [g for g in groups if g["name"] == row["trial"]]
        assert group["hparams"]["model.width"] == row["values"]["model.width"]
        metrics = {m["name"]["tag"]: m["value"] for m in group["metricValues"]}
        assert abs(metrics["objective"] - row["objective"]) < 1e-6
