package dev.entangle.store;

import io.minio.BucketExistsArgs;
import io.minio.Checksum;
import io.minio.DownloadObjectArgs;
import io.minio.GetObjectArgs;
import io.minio.ListObjectsArgs;
import io.minio.MakeBucketArgs;
import io.minio.MinioClient;
import io.minio.PutObjectArgs;
import io.minio.RemoveObjectArgs;
import io.minio.Result;
import io.minio.StatObjectArgs;
import io.minio.UploadObjectArgs;
import io.minio.errors.ErrorResponseException;
import io.minio.messages.Item;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** {@link ObjectStore} on any S3-compatible server through the MinIO client (path-style). */
public final class S3ObjectStore implements ObjectStore {

    /**
     * Files up to this size go up in one PUT, which the client streams from the file; a larger one
     * in parts of {@link #PART_SIZE}, each of which the client holds in memory. A 2048² float32
     * tensor (16 MiB and its header) took three requests and a server-side concatenation in parts.
     */
    private static final long SINGLE_PUT_MAX = 1L << 30;
    /** Multipart part size for larger files: bounded memory whatever the object size. */
    private static final long PART_SIZE = 16L << 20;
    /** S3's smallest part, which the client also asks of a single PUT's declared part size. */
    private static final long MIN_PART_SIZE = 5L << 20;
    /**
     * The payload checksum: CRC32, which the JDK computes with the processor's carry-less multiply
     * and which S3 takes both for a single PUT and, composed, for parts. The client's default,
     * CRC32C, is a byte-at-a-time Java table loop: 1.74 of the ingest service's 14.4 CPU-seconds for
     * a base and an FFT checkpoint (docs/performance.md, 2026-12-03).
     */
    private static final Checksum.Algorithm CHECKSUM = Checksum.Algorithm.CRC32;

    private final MinioClient client;
    private final S3Config config;

    public S3ObjectStore(S3Config config) {
        this.config = config;
        this.client = MinioClient.builder()
                .endpoint(config.endpoint())
                .credentials(config.accessKey(), config.secretKey())
                .region(config.region())
                .build();
    }

    public S3Config config() { return config; }

    @Override
    public void ensureReady() throws IOException {
        call(() -> {
            if (!client.bucketExists(BucketExistsArgs.builder().bucket(config.bucket()).build())) {
                client.makeBucket(MakeBucketArgs.builder().bucket(config.bucket()).build());
            }
            return null;
        });
    }

    @Override
    public boolean exists(String key) throws IOException {
        try {
            client.statObject(StatObjectArgs.builder().bucket(config.bucket()).object(key).build());
            return true;
        } catch (ErrorResponseException e) {
            if (isNotFound(e)) return false;
            throw new IOException("S3 stat " + key + ": " + e.getMessage(), e);
        } catch (Exception e) {
            throw wrap("stat " + key, e);
        }
    }

    @Override
    public void put(String key, Path file, String contentType) throws IOException {
        long size = Files.size(file);
        long partSize = size <= SINGLE_PUT_MAX ? Math.max(size, MIN_PART_SIZE) : PART_SIZE;
        call(() -> client.uploadObject(UploadObjectArgs.builder().bucket(config.bucket()).object(key)
                .filename(file.toString(), partSize).checksum(CHECKSUM).contentType(contentType).build()));
    }

    @Override
    public void put(String key, byte[] bytes, String contentType) throws IOException {
        call(() -> client.putObject(PutObjectArgs.builder().bucket(config.bucket()).object(key)
                .stream(new ByteArrayInputStream(bytes), (long) bytes.length, -1L).checksum(CHECKSUM).contentType(contentType).build()));
    }

    @Override
    public boolean putIfAbsent(String key, byte[] bytes, String contentType) throws IOException {
        try {
            client.putObject(PutObjectArgs.builder().bucket(config.bucket()).object(key)
                    .stream(new ByteArrayInputStream(bytes), (long) bytes.length, -1L).checksum(CHECKSUM).contentType(contentType)
                    .extraHeaders(java.util.Map.of("If-None-Match", "*")).build());
            return true;
        } catch (ErrorResponseException e) {
            String code = e.errorResponse() == null ? "" : e.errorResponse().code();
            if ("PreconditionFailed".equals(code) || (e.response() != null && e.response().code() == 412)) return false;
            throw new IOException("S3 conditional put " + key + ": " + e.getMessage(), e);
        } catch (Exception e) {
            throw wrap("conditional put " + key, e);
        }
    }

    @Override
    public InputStream open(String key) throws IOException {
        return call(() -> client.getObject(GetObjectArgs.builder().bucket(config.bucket()).object(key).build()));
    }

    @Override
    public Optional<byte[]> read(String key) throws IOException {
        try (InputStream in = client.getObject(GetObjectArgs.builder().bucket(config.bucket()).object(key).build())) {
            return Optional.of(in.readAllBytes());
        } catch (ErrorResponseException e) {
            if (isNotFound(e)) return Optional.empty();
            throw new IOException("S3 get " + key + ": " + e.getMessage(), e);
        } catch (Exception e) {
            throw wrap("get " + key, e);
        }
    }

    @Override
    public void download(String key, Path target) throws IOException {
        Path tmp = Files.createTempFile(target.toAbsolutePath().getParent(), ".dl", ".tmp");
        Files.delete(tmp); // the client refuses to overwrite
        try {
            call(() -> {
                client.downloadObject(DownloadObjectArgs.builder().bucket(config.bucket()).object(key)
                        .filename(tmp.toString()).build());
                return null;
            });
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    @Override
    public void delete(String key) throws IOException {
        call(() -> {
            client.removeObject(RemoveObjectArgs.builder().bucket(config.bucket()).object(key).build());
            return null;
        });
    }

    @Override
    public List<String> list(String prefix) throws IOException {
        return call(() -> {
            List<String> keys = new ArrayList<>();
            for (Result<Item> r : client.listObjects(ListObjectsArgs.builder().bucket(config.bucket())
                    .prefix(prefix).recursive(true).build())) {
                keys.add(r.get().objectName());
            }
            keys.sort(null);
            return keys;
        });
    }

    private static boolean isNotFound(ErrorResponseException e) {
        String code = e.errorResponse() == null ? "" : e.errorResponse().code();
        return "NoSuchKey".equals(code) || "NoSuchObject".equals(code) || "NotFound".equals(code)
                || (e.response() != null && e.response().code() == 404);
    }

    private interface S3Call<T> {
        T run() throws Exception;
    }

    private static <T> T call(S3Call<T> c) throws IOException {
        try {
            return c.run();
        } catch (IOException e) {
            throw e;
        } catch (Exception e) {
            throw wrap("call", e);
        }
    }

    private static IOException wrap(String what, Exception e) {
        if (e instanceof InterruptedException) Thread.currentThread().interrupt();
        return new IOException("S3 " + what + ": " + e.getMessage(), e);
    }
}
