"""`bigmodel benchmark`: performance suites measured side by side, as JSON and Markdown.

Suites (one module each): input (inputs.py: generator vs plain tf.data vs the project's
pipeline on TFRecords), input_bound and overhead (loop.py), precision and utilization
(compute.py), scaling over 1/2/4 logical devices in subprocesses (scaling.py), TFLite
variants of `bigmodel compress` (tflite.py), and tabular_defaults, the default network
against the best tuned baseline on small tabular sets (tabular.py), memory, the peak RSS of
`bigmodel train` as generated image data grows, read as TFRecords and as PNG files
(memory.py), and image_folder, the image_dir pipeline against Keras' folder reader
(images.py); runner.py runs them and writes the report (report.py).
"""

from bigmodel_tf.benchmarks.runner import run_benchmarks

__all__ = ["run_benchmarks"]
