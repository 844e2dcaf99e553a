"""An HF transformers TrainerCallback that tells entangle a checkpoint is in the object store.

Trainer calls ``on_save`` right after it wrote ``output_dir/checkpoint-N/`` (weights first,
``trainer_state.json`` last). This callback then (optionally) uploads the folder and publishes one
``CheckpointSaved`` event, as JSON, to the ingest service's topic ``checkpoints-saved``::

    {"bucket": "training", "prefix": "jobs/my-run/checkpoint-150/", "run": "my-run", "step": 150}

The ingest service registers the folder like its Register RPC (only the weights, their configs and
trainer_state.json are read; optimizer.pt and the other pickles are never opened), once: a repeated
event is a no-op. The bucket/prefix must lie under one of its watched sources
(``ENTANGLE_INGEST_WATCH_SOURCES``).

    from entangle_callback import EntangleCallback
    trainer = Trainer(..., callbacks=[EntangleCallback(bucket="training", prefix="jobs",
                                                       bootstrap_servers="kafka:9092")])

Needs kafka-python (``pip install kafka-python``; Debian: ``apt-get install python3-kafka``) unless
a producer is passed in.
"""
import json
import os

try:  # the callback is useful without transformers installed only in tests
    from transformers import TrainerCallback
except ImportError:  # pragma: no cover
    TrainerCallback = object

TOPIC = "checkpoints-saved"  # dev.entangle.proto.Topics.CHECKPOINTS_SAVED


class EntangleCallback(TrainerCallback):
    """Publishes a CheckpointSaved event for every checkpoint the Trainer saves.

    bucket, prefix: where checkpoint folders land in the object store: PREFIX/RUN/checkpoint-N/
    run: the run's name (default: the last part of args.output_dir, as entangle reads it)
    base: the registered base model, for full fine-tuning and DoRA checkpoints
    upload: optional function(local_folder, bucket, key_prefix) that copies the folder first
        (e.g. with boto3); without it the folder must already be there (a synced or mounted output_dir)
    producer: anything with send(topic, key=..., value=...) returning a future with get(timeout);
        default: a kafka-python KafkaProducer on bootstrap_servers
    """

    def __init__(self, bucket, prefix="", run=None, base=None, bootstrap_servers=None, topic=TOPIC,
                 upload=None, producer=None):
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.run = run
        self.base = base
        self.topic = topic
        self.upload = upload
        self._producer = producer
        self._bootstrap = bootstrap_servers

    def producer(self):
        if self._producer is None:
            from kafka import KafkaProducer
            self._producer = KafkaProducer(bootstrap_servers=self._bootstrap, acks="all")
        return self._producer

    def event(self, args, state):
        run = self.run or os.path.basename(os.path.normpath(args.output_dir))
        folder = "checkpoint-%d" % state.global_step
        key_prefix = "/".join(p for p in (self.prefix, run, folder) if p) + "/"
        ev = {"bucket": self.bucket, "prefix": key_prefix, "run": run, "step": state.global_step}
        if self.base:
            ev["base"] = self.base
        return ev

    def on_save(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return control
        ev = self.event(args, state)
        if self.upload is not None:
            self.upload(os.path.join(args.output_dir, "checkpoint-%d" % state.global_step), ev["bucket"], ev["prefix"])
        # wait for the broker's acknowledgement: a lost event would leave the checkpoint unseen
        self.producer().send(self.topic, key=ev["run"].encode(), value=json.dumps(ev).encode()).get(timeout=60)
        return control
