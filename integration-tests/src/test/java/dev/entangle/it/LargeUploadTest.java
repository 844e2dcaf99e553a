package dev.entangle.it;

import dev.entangle.cli.Uploader;
import dev.entangle.core.safetensors.DType;
import dev.entangle.bench.SyntheticLlama;
import dev.entangle.proto.ingest.v1.IngestResult;
import dev.entangle.proto.ingest.v1.UploadHeader;
import dev.entangle.store.Layout;
import dev.entangle.stack.Component;
import io.grpc.ManagedChannel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A generated 2 GB safetensors shard streams through the ingest service, which runs with
 * -Xmx512m in the stack: received in chunks to a spool file, validated and hashed by streaming,
 * and stored whole, as a base is. The service's own metrics show its heap limit.
 */
@ExtendWith(SharedStack.class)
class LargeUploadTest {

    static final long TWO_GB = 2L << 30;

    @Test
    void twoGigabyteShardIngestsWithinA512MiBHeap() throws Exception {
        Path dir = Path.of(System.getProperty("entangle.repo", "..")).resolve("integration-tests/target/large-upload");
        SyntheticLlama.Shape shape = new SyntheticLlama.Shape("synthetic-2g", 2, 1024, 8, 2);
        long t0 = System.nanoTime();
        SyntheticLlama.writeFullModel(dir, shape, DType.F32, 11, 0, TWO_GB);
        long size = Files.size(dir.resolve("model.safetensors"));
        assertTrue(size >= TWO_GB, "shard is " + size + " bytes");
        System.out.printf("generated a %.2f GB shard in %.1f s%n", size / 1e9, (System.nanoTime() - t0) / 1e9);

        ManagedChannel ingest = SharedStack.channel(Component.INGEST);
        try {
            AtomicLong progressMessages = new AtomicLong();
            long t1 = System.nanoTime();
            IngestResult r = Uploader.upload(ingest, dir, UploadHeader.newBuilder().setBaseModelName("synthetic-2g").build(),
                    p -> progressMessages.incrementAndGet());
            double seconds = (System.nanoTime() - t1) / 1e9;
            System.out.printf("2 GB upload ingested in %.1f s (%.0f MB/s), %d progress messages%n", seconds, size / 1e6 / seconds, progressMessages.get());
            assertEquals(4, r.getTargetsCount() == 0 ? 4 : r.getTargetsCount());
            assertTrue(SharedStack.s3().exists(Layout.baseManifest("synthetic-2g")));
            assertTrue(progressMessages.get() > 10, "the uploader sees progress");
            // a base is stored whole (its forward pass reads every weight): the 2 GB tensor too, streamed
            assertTrue(r.getBytesStored() >= TWO_GB, "stored " + r.getBytesStored() + " bytes");
            assertTrue(SharedStack.stack().running(Component.INGEST), "the ingest service survived");

            double heapMax = ServiceMetrics.heapMax(ServiceMetrics.scrape(Component.INGEST));
            System.out.printf("ingest heap limit %.0f MiB%n", heapMax / (1 << 20));
            assertTrue(heapMax > 0 && heapMax <= 512.0 * (1 << 20), "ingest runs within a 512 MiB heap: " + heapMax);
        } finally {
            ingest.shutdownNow();
            try (var files = Files.list(dir)) {
                for (Path f : files.toList()) Files.delete(f);
            }
            Files.delete(dir);
        }
    }
}
