namespace Shellbox.Azure.Tests;
