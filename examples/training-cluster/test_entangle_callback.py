"""Drives EntangleCallback.on_save as HF Trainer does, without transformers installed.

    python3 test_entangle_callback.py OUTPUT_DIR STEP BUCKET PREFIX [BASE]
        prints the event a fake producer received (one JSON line): the build's check of its format
    python3 test_entangle_callback.py --bootstrap HOST:PORT OUTPUT_DIR STEP BUCKET PREFIX [BASE]
        publishes it for real with kafka-python (the stack test)
"""
import json
import sys
import types

# what on_save needs of transformers: the base class (the real one only adds no-op hooks)
fake = types.ModuleType("transformers")
fake.TrainerCallback = type("TrainerCallback", (), {})
sys.modules.setdefault("transformers", fake)

from entangle_callback import EntangleCallback  # noqa: E402


class Sent:
    def get(self, timeout=None):
        return self


class FakeProducer:
    def __init__(self):
        self.sent = []

    def send(self, topic, key=None, value=None):
        self.sent.append((topic, key, value))
        return Sent()


def main(argv):
    bootstrap = None
    if argv[0] == "--bootstrap":
        bootstrap, argv = argv[1], argv[2:]
    output_dir, step, bucket, prefix = argv[0], int(argv[1]), argv[2], argv[3]
    base = argv[4] if len(argv) > 4 else None
    fake_producer = None if bootstrap else FakeProducer()
    cb = EntangleCallback(bucket=bucket, prefix=prefix, base=base, bootstrap_servers=bootstrap, producer=fake_producer)
    args = types.SimpleNamespace(output_dir=output_dir)
    state = types.SimpleNamespace(global_step=step, is_world_process_zero=True)
    control = object()
    assert cb.on_save(args, state, control) is control
    # other ranks publish nothing
    assert cb.on_save(args, types.SimpleNamespace(global_step=step, is_world_process_zero=False), control) is control
    if fake_producer is not None:
        assert len(fake_producer.sent) == 1, fake_producer.sent
        topic, key, value = fake_producer.sent[0]
        assert topic == "checkpoints-saved", topic
        ev = json.loads(value)
        assert key == ev["run"].encode(), key
        print(value.decode())
    else:
        cb.producer().flush()
        print(json.dumps(cb.event(args, state)))


if __name__ == "__main__":
    main(sys.argv[1:])
