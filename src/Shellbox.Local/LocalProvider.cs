using Shellbox.Core.Engine;
using Shellbox.Core.Ports;
using Shellbox.Core.Settings;
using Shellbox.Local.Infrastructure;
using Shellbox.Local.Runtime;
using Shellbox.Local.Store;

namespace Shellbox.Local;

/// <summary>The composition root of the Local provider: this machine is the cloud.</summary>
public static class LocalProvider
{
    public const string StoreFileName = "state.db";

    /// <summary>
    /// The engine over &lt;state&gt;/state.db (SQLite, made by the first write), folders and slots under the
    /// state folder, and QEMU boxes on this machine.
    /// </summary>
    public static ShellboxEngine CreateEngine(ShellboxSettings settings, TimeProvider? time = null, LocalProviderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        time ??= TimeProvider.System;
        options ??= new LocalProviderOptions();
        // Nothing is made until something is written: -WhatIf and the reads leave a never-used folder as it was.
        var store = SqlitePoolStore.OpenOnFirstWrite(Path.Combine(settings.StateDirectory, StoreFileName));
        return new ShellboxEngine(
            settings,
            store,
            new LocalInfrastructure(settings, options, time),
            new QemuBoxRuntime(settings, options, time),
            time,
            new RandomIdGenerator());
    }
}
