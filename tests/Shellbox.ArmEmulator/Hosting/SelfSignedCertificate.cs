using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Shellbox.ArmEmulator.Hosting;

/// <summary>The emulator's TLS certificate, made at start: self-signed, for 127.0.0.1, ::1 and localhost.</summary>
internal static class SelfSignedCertificate
{
    public static X509Certificate2 Create()
    {
        // ECDSA P-256: a key is made in microseconds where RSA 2048 takes a noticeable part of a test's start.
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=Shellbox ARM emulator", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddIpAddress(IPAddress.IPv6Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(30));
    }

    /// <summary>Writes the certificate (no key) as PEM, for SSL_CERT_FILE in child processes.</summary>
    public static string WritePem(X509Certificate2 certificate, string directory)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, "arm-emulator-cert.pem");
        File.WriteAllText(path, certificate.ExportCertificatePem() + "\n");
        return path;
    }
}
