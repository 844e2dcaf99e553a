package dev.entangle.it;

import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * Debian's Chromium, headless at 1280×800, driven through its chromedriver by Selenium: no
 * browser is downloaded ({@code ./entangle test} installs the {@code chromium} and {@code chromium-driver}
 * packages). Optional request headers play the gateway in front of a secured service (the
 * bearer token and the tenant header on every request the page makes, its live stream included).
 */
final class Browser implements AutoCloseable {

    static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");

    final ChromeDriver driver;
    final Path downloads;
    private final Path profile;

    Browser(Map<String, String> headers) throws IOException {
        for (Path p : List.of(CHROMIUM, CHROMEDRIVER)) {
            if (!Files.isExecutable(p)) {
                throw new IllegalStateException(p + " is missing: the dashboard tests drive Debian's Chromium "
                        + "(Debian packages chromium, chromium-driver; ./entangle test installs them)");
            }
        }
        profile = Files.createTempDirectory("entangle-chromium-");
        downloads = Files.createDirectories(profile.resolve("downloads"));
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                "--window-size=1280,800", "--user-data-dir=" + profile.resolve("user-data"));
        options.setExperimentalOption("prefs", Map.of("download.default_directory", downloads.toString(),
                "download.prompt_for_download", false));
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile())
                .withLogOutput(java.io.OutputStream.nullOutputStream()).build();
        driver = new ChromeDriver(service, options);
        driver.manage().timeouts().scriptTimeout(Duration.ofSeconds(30));
        // the page's viewport is 1280×800 exactly (a window of that size has a smaller one)
        driver.executeCdpCommand("Emulation.setDeviceMetricsOverride", Map.of("width", 1280, "height", 800, "deviceScaleFactor", 1, "mobile", false));
        driver.executeCdpCommand("Browser.setDownloadBehavior", Map.of("behavior", "allow", "downloadPath", downloads.toString()));
        if (!headers.isEmpty()) {
            driver.executeCdpCommand("Network.enable", Map.of());
            driver.executeCdpCommand("Network.setExtraHTTPHeaders", Map.of("headers", headers));
        }
    }

    void open(String url) {
        driver.get(url);
    }

    Object js(String script, Object... args) {
        return ((JavascriptExecutor) driver).executeScript(script, args);
    }

    /**
     * Waits (Awaitility, every 100 ms) for a condition in the page: a value that is neither null nor
     * false. Selenium's exceptions while the page changes count as "not yet"; on timeout it fails
     * with {@code what} and the page's visible text.
     */
    <T> T await(String what, Duration timeout, Supplier<T> condition) {
        try {
            return org.awaitility.Awaitility.await(what).atMost(timeout).pollInterval(Duration.ofMillis(100)).pollInSameThread()
                    .ignoreExceptionsInstanceOf(RuntimeException.class)
                    .until(condition::get, t -> t != null && !Boolean.FALSE.equals(t));
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            String text = driver.findElement(By.tagName("body")).getText();
            throw new AssertionError("timed out waiting for " + what + " (" + e.getMessage() + "); the page says:\n" + text, e);
        }
    }

    /** The figure's card once drawn with the given data attributes (data-state="drawn"). */
    WebElement drawn(String figure, Map<String, String> attrs, Duration timeout) throws InterruptedException {
        StringBuilder css = new StringBuilder("[data-figure='" + figure + "'][data-state='drawn']");
        attrs.forEach((k, v) -> css.append("[data-").append(k).append("='").append(v).append("']"));
        long[] failingSince = {0};
        return await("figure " + figure + " drawn with " + attrs, timeout, () -> {
            List<WebElement> found = driver.findElements(By.cssSelector(css.toString()));
            if (found.isEmpty()) {
                // a figure that keeps failing says why: fail with its message rather than at the timeout
                // (a passing one, while a choice is being made, is not the answer yet)
                List<WebElement> failed = driver.findElements(By.cssSelector("[data-figure='" + figure + "'][data-state='error']"));
                if (failed.isEmpty()) failingSince[0] = 0;
                else if (failingSince[0] == 0) failingSince[0] = System.nanoTime();
                else if (System.nanoTime() - failingSince[0] > 3_000_000_000L) {
                    throw new AssertionError("figure " + figure + " failed: " + failed.getFirst().findElement(By.className("caption")).getText());
                }
                return null;
            }
            return found.getFirst();
        });
    }

    /** The series of a drawn figure's chart, as ECharts holds them (what it plots: id, name, data). */
    @SuppressWarnings("unchecked")
    List<Map<String, Object>> series(WebElement card) {
        return (List<Map<String, Object>>) js("const o = echarts.getInstanceByDom(arguments[0].querySelector('.chart')).getOption();"
                + "return o.series.map(s => ({id: s.id, name: s.name, data: s.data}));", card);
    }

    void screenshot(Path file) throws IOException {
        Files.createDirectories(file.getParent());
        Files.write(file, driver.getScreenshotAs(OutputType.BYTES));
    }

    /** The next file downloaded with this ending (Chrome writes it under a temporary name first). */
    Path download(String ending, Duration timeout) throws InterruptedException {
        return await("a download ending in " + ending, timeout, () -> {
            try (Stream<Path> s = Files.list(downloads)) {
                Optional<Path> f = s.filter(p -> p.getFileName().toString().endsWith(ending)).findFirst();
                return f.orElse(null);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
    }

    @Override
    public void close() throws IOException {
        try {
            driver.quit();
        } finally {
            try (Stream<Path> s = Files.walk(profile)) {
                for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
            } catch (IOException e) {
                // Chromium may still be writing its profile as it exits: a temp folder left behind
            }
        }
    }
}
