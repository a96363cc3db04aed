package dev.levee.gateway;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

/**
 * Certificates for TLS tests on 127.0.0.1, made with the JDK's keytool: a CA, a server certificate
 * that the CA signed, and a self-signed server certificate that no CA signed.
 *
 * @param caFile PEM file with the CA's certificate
 * @param signedServer server TLS settings with the certificate the CA signed, sent with the CA's
 * @param selfSignedServer server TLS settings with the self-signed certificate
 */
record TestCertificates(Path caFile, SSLContext signedServer, SSLContext selfSignedServer) {
    private static final String PASSWORD = "test-only";
    private static final long KEYTOOL_SECONDS = 60;
    private static final String SAN = "SAN=ip:127.0.0.1";

    /** Creates the certificates in {@code directory}; takes a few seconds, since each keytool call starts a JVM. */
    static TestCertificates create(Path directory) throws Exception {
        Path ca = directory.resolve("ca.p12");
        Path caFile = directory.resolve("ca.crt");
        keytool(directory, "-genkeypair", "-keystore", ca.toString(), "-alias", "ca", "-dname", "CN=Levee test CA",
                "-ext", "bc:c", "-keyalg", "EC", "-groupname", "secp256r1", "-validity", "2");
        keytool(directory, "-exportcert", "-keystore", ca.toString(), "-alias", "ca", "-rfc", "-file",
                caFile.toString());

        Path server = directory.resolve("server.p12");
        Path request = directory.resolve("server.csr");
        Path signed = directory.resolve("server.crt");
        keytool(directory, "-genkeypair", "-keystore", server.toString(), "-alias", "server", "-dname",
                "CN=127.0.0.1", "-keyalg", "EC", "-groupname", "secp256r1", "-validity", "2");
        keytool(directory, "-certreq", "-keystore", server.toString(), "-alias", "server", "-file", request.toString());
        keytool(directory, "-gencert", "-keystore", ca.toString(), "-alias", "ca", "-infile", request.toString(),
                "-outfile", signed.toString(), "-rfc", "-ext", SAN, "-validity", "2");

        Path selfSigned = directory.resolve("self-signed.p12");
        keytool(directory, "-genkeypair", "-keystore", selfSigned.toString(), "-alias", "server", "-dname",
                "CN=127.0.0.1", "-ext", SAN, "-keyalg", "EC", "-groupname", "secp256r1", "-validity", "2");

        List<Certificate> chain = new ArrayList<>(certificates(signed));
        chain.addAll(certificates(caFile));
        PrivateKey key = (PrivateKey) load(server).getKey("server", PASSWORD.toCharArray());
        KeyStore signedStore = KeyStore.getInstance("PKCS12");
        signedStore.load(null, null);
        signedStore.setKeyEntry("server", key, PASSWORD.toCharArray(), chain.toArray(Certificate[]::new));
        return new TestCertificates(caFile, serverContext(signedStore), serverContext(load(selfSigned)));
    }

    private static void keytool(Path directory, String... arguments) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
        command.addAll(List.of(arguments));
        command.addAll(List.of("-storetype", "PKCS12", "-storepass", PASSWORD, "-noprompt"));
        Process process = new ProcessBuilder(command).directory(directory.toFile()).redirectErrorStream(true).start();
        process.getOutputStream().close();
        if (!process.waitFor(KEYTOOL_SECONDS, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("keytool did not finish within " + KEYTOOL_SECONDS + " s: " + command);
        }
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (process.exitValue() != 0) {
            throw new AssertionError("keytool failed with exit code " + process.exitValue() + ": " + command + "\n"
                    + output);
        }
    }

    private static List<? extends Certificate> certificates(Path pem) throws Exception {
        try (InputStream in = Files.newInputStream(pem)) {
            return List.copyOf(CertificateFactory.getInstance("X.509").generateCertificates(in));
        }
    }

    private static KeyStore load(Path file) throws Exception {
        KeyStore store = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(file)) {
            store.load(in, PASSWORD.toCharArray());
        }
        return store;
    }

    private static SSLContext serverContext(KeyStore store) throws Exception {
        KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        keys.init(store, PASSWORD.toCharArray());
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(keys.getKeyManagers(), null, null);
        return context;
    }
}
