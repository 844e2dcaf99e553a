package dev.entangle.stack;

import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.auth.AuthenticationType;
import org.gaul.s3proxy.nio2blob.FilesystemNio2BlobStore;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A real S3-compatible server for the local stack and the integration tests: S3Proxy over a
 * filesystem blob store (objects are plain files under {@code DATA_DIR}), AWS v2/v4
 * authentication with the given key pair. Runs until killed.
 *
 * <p>Usage: {@code S3Server PORT DATA_DIR} with the credentials in the environment
 * (ENTANGLE_S3_ACCESS_KEY, ENTANGLE_S3_SECRET_KEY), never on the command line.
 */
public final class S3Server {

    private S3Server() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: S3Server PORT DATA_DIR (credentials from ENTANGLE_S3_ACCESS_KEY / ENTANGLE_S3_SECRET_KEY)");
            System.exit(2);
        }
        int port = Integer.parseInt(args[0]);
        Path dir = Path.of(args[1]).toAbsolutePath();
        String key = requireEnv("ENTANGLE_S3_ACCESS_KEY");
        String secret = requireEnv("ENTANGLE_S3_SECRET_KEY");
        S3Proxy proxy = start(port, dir, key, secret);
        System.out.println("s3 ready on http://127.0.0.1:" + proxy.getPort() + " data " + dir);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                proxy.stop();
            } catch (Exception ignored) {
                // exiting anyway
            }
        }));
        Thread.currentThread().join();
    }

    /** Starts S3Proxy on 127.0.0.1:port (0: any free port) and waits until it serves. */
    public static S3Proxy start(int port, Path dir, String key, String secret) throws Exception {
        Files.createDirectories(dir);
        S3Proxy proxy = S3Proxy.builder().blobStore(new FilesystemNio2BlobStore(dir.toString())).endpoint(URI.create("http://127.0.0.1:" + port))
                .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, key, secret).build();
        proxy.start();
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (!"STARTED".equals(proxy.getState())) {
            if (System.nanoTime() > deadline) throw new IllegalStateException("S3Proxy did not start: " + proxy.getState());
            Thread.sleep(20);
        }
        return proxy;
    }

    static String requireEnv(String name) {
        String v = System.getenv(name);
        if (v == null || v.isBlank()) {
            System.err.println("S3Server: " + name + " is not set");
            System.exit(2);
        }
        return v;
    }
}
