package dev.entangle.stack;

import org.apache.kafka.common.Uuid;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;

/**
 * The stack's Kafka broker: one KRaft node, broker and controller combined, from its Maven
 * Central jars (this process's class path), its log folder formatted on first start.
 */
final class KafkaBroker {

    private KafkaBroker() {}

    /** Writes {@code kafka/server.properties}, formats {@code kafka/data} if new, and returns the broker's command. */
    static List<String> command(Supervisor processes, Ports ports, int partitions) throws IOException, InterruptedException {
        Path dir = processes.home().resolve("kafka");
        Path data = dir.resolve("data");
        Files.createDirectories(data);
        Path config = dir.resolve("server.properties");
        Properties p = new Properties();
        p.setProperty("process.roles", "broker,controller");
        p.setProperty("node.id", "1");
        p.setProperty("controller.quorum.bootstrap.servers", "127.0.0.1:" + ports.controller());
        p.setProperty("listeners", "PLAINTEXT://127.0.0.1:" + ports.of(Component.KAFKA) + ",CONTROLLER://127.0.0.1:" + ports.controller());
        p.setProperty("advertised.listeners", "PLAINTEXT://127.0.0.1:" + ports.of(Component.KAFKA));
        p.setProperty("controller.listener.names", "CONTROLLER");
        p.setProperty("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
        p.setProperty("log.dirs", data.toString());
        p.setProperty("num.partitions", "" + partitions);
        p.setProperty("offsets.topic.replication.factor", "1");
        p.setProperty("offsets.topic.num.partitions", "4");
        p.setProperty("transaction.state.log.replication.factor", "1");
        p.setProperty("transaction.state.log.min.isr", "1");
        p.setProperty("share.coordinator.state.topic.replication.factor", "1");
        p.setProperty("share.coordinator.state.topic.min.isr", "1");
        p.setProperty("group.initial.rebalance.delay.ms", "0");
        try (var out = Files.newOutputStream(config)) {
            p.store(out, "entangle local Kafka broker (KRaft, single node)");
        }
        if (!Files.exists(data.resolve("meta.properties"))) {
            List<String> format = processes.javaCommand(List.of("-Xmx256m"), LocalStack.classPath("kafka.tools.StorageTool", "format", "--standalone",
                    "-t", Uuid.randomUuid().toString(), "-c", config.toString()));
            Path log = processes.log("kafka-format");
            Files.createDirectories(log.getParent());
            Process fmt = new ProcessBuilder(format).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
            if (fmt.waitFor() != 0) throw new IllegalStateException("formatting the Kafka log folder failed: see " + log);
        }
        return processes.javaCommand(List.of("-Xmx" + Component.KAFKA.heap(), "-Xms128m"), LocalStack.classPath("kafka.Kafka", config.toString()));
    }
}
