package dev.entangle.it;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import java.util.function.Predicate;

/** Reads the stack's topics from the start, as an outside observer (a fresh consumer group each time). */
final class KafkaTopics {

    interface Parser<T> {
        T parse(byte[] b) throws IOException;
    }

    private KafkaTopics() {}

    /** Records matching {@code keep}, until {@code atLeast} of them or the timeout. */
    static <T> List<T> read(String topic, Parser<T> parser, Predicate<T> keep, int atLeast, Duration timeout) throws IOException {
        return readUntil(topic, parser, keep, l -> l.size() >= atLeast, timeout);
    }

    /** Records matching {@code keep}, until {@code done} holds for what was read or the timeout. */
    static <T> List<T> readUntil(String topic, Parser<T> parser, Predicate<T> keep, Predicate<List<T>> done, Duration timeout) throws IOException {
        Properties p = new Properties();
        p.setProperty(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, SharedStack.stack().kafkaBootstrap());
        p.setProperty(ConsumerConfig.GROUP_ID_CONFIG, "it-" + UUID.randomUUID());
        p.setProperty(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.setProperty(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        List<T> out = new ArrayList<>();
        try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer())) {
            c.subscribe(List.of(topic));
            Waits.during(timeout, () -> {
                for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(250))) {
                    T t;
                    try {
                        t = parser.parse(r.value());
                    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
                        continue;   // the dead-letter test's deliberate garbage: not an event
                    }
                    if (keep.test(t)) out.add(t);
                }
                return done.test(out);
            });
        }
        return out;
    }
}
