using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.Loader;
using Shellbox.Core.Errors;
using Shellbox.Core.Model;
using Shellbox.Core.Planning;
using Shellbox.Core.Store;
using Shellbox.Local.Store;

namespace Shellbox.Net8Smoke;

/// <summary>
/// What pwsh 7.4 on .NET 8 needs from the engine: the runtime is 8, the engine and its dependencies load into the
/// module's private context from the built folder, the SQLite store (native library included) commits and reads,
/// the planner plans, and the Azure SDK assemblies load and construct their types. No check touches the network.
/// </summary>
internal sealed class SmokeChecks(AssemblyLoadContext engine, string dependencies)
{
    public string Current { get; private set; } = "start";

    public int Passed { get; private set; }

    public async Task RunAllAsync()
    {
        Check("runtime is .NET 8", () => Require(Environment.Version.Major == 8, $"running on .NET {Environment.Version}"));
        await CheckAsync("SQLite store: commit, conflict and read in a temp folder", StoreAsync);
        Check("engine and SQLite load from the dependencies folder into the module's context", LoadedFromModule);
        await CheckAsync("planner: a pool below its bounds plans the creates", PlanAsync);
        Check("Azure SDK assemblies load and construct their types", AzureTypes);
    }

    private void Check(string name, Action check)
    {
        Current = name;
        check();
        Passed++;
        Console.WriteLine($"ok: {name}");
    }

    private async Task CheckAsync(string name, Func<Task> check)
    {
        Current = name;
        await check();
        Passed++;
        Console.WriteLine($"ok: {name}");
    }

    // NoInlining: the engine's types are resolved when these methods are compiled, after the Resolving hook is set.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private async Task StoreAsync()
    {
        var folder = Directory.CreateTempSubdirectory("shellbox-net8-smoke-");
        try
        {
            var store = SqlitePoolStore.Open(Path.Combine(folder.FullName, "state.db"));
            var now = DateTimeOffset.UtcNow;
            var instance = new InstanceRecord { Id = "instance-smoke", Status = ResourceStatuses.Free, Created = now, LastUsed = now };
            await store.InsertAsync(instance);
            var conflict = false;
            try
            {
                await store.InsertAsync(instance);
            }
            catch (StoreConflictException)
            {
                conflict = true;
            }

            Require(conflict, "a second insert of the same row was not refused");
            var read = await store.GetAsync<InstanceRecord>("instance-smoke");
            Require(read is { IsFree: true } && read.ETag is not null, "the committed row did not read back free with a version");
            var snapshot = await store.ReadSnapshotAsync();
            Require(snapshot.Instances.Count == 1 && snapshot.Volumes.Count == 0, $"snapshot holds {snapshot.Instances.Count} instances, {snapshot.Volumes.Count} volumes");
        }
        finally
        {
            // Close the pooled connections so the folder can go (the host names no SQLite type: the module does not either).
            Sqlite().GetType("Microsoft.Data.Sqlite.SqliteConnection", throwOnError: true)!.GetMethod("ClearAllPools")!.Invoke(null, null);
            folder.Delete(recursive: true);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void LoadedFromModule()
    {
        foreach (var assembly in new[] { typeof(SqlitePoolStore).Assembly, typeof(PoolPlanner).Assembly, Sqlite() })
        {
            Require(AssemblyLoadContext.GetLoadContext(assembly) == engine, $"{assembly.GetName().Name} loaded into {AssemblyLoadContext.GetLoadContext(assembly)?.Name}, not the module's context");
            Require(Path.GetDirectoryName(assembly.Location) == dependencies, $"{assembly.GetName().Name} loaded from {assembly.Location}");
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Task PlanAsync()
    {
        var now = DateTimeOffset.UtcNow;
        var free = new InstanceRecord { Id = "instance-1", Status = ResourceStatuses.Free, Created = now, LastUsed = now };
        var plan = PoolPlanner.Plan(new PlannerInput { Snapshot = new PoolSnapshot([free], [], []), Config = PoolConfig.Dev, Now = now });
        var creates = plan.Actions.OfType<CreateResource>().ToList();
        var instances = creates.Count(c => c.Role == ResourceRoles.Instance);
        var volumes = creates.Count(c => c.Role == ResourceRoles.Volume);
        Require(instances == Math.Max(0, PoolConfig.Dev.MinFreeInstances - 1) && volumes == PoolConfig.Dev.MinFreeVolumes,
            $"planned {instances} instance and {volumes} volume creates: {plan}");
        return Task.CompletedTask;
    }

    /// <summary>The SQLite assembly the store loaded (already loaded: the engine's context hands back the same one).</summary>
    private Assembly Sqlite() =>
        engine.Assemblies.SingleOrDefault(a => a.GetName().Name == "Microsoft.Data.Sqlite")
        ?? throw new InvalidOperationException("Microsoft.Data.Sqlite is not loaded into the module's context");

    /// <summary>Each Azure assembly the provider uses, loaded by name through the module's context, and a type of it built.</summary>
    private void AzureTypes()
    {
        var core = engine.LoadFromAssemblyName(new AssemblyName("Azure.Core"));
        var id = Activator.CreateInstance(core.GetType("Azure.Core.ResourceIdentifier", throwOnError: true)!,
            "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/shellbox-rg/providers/Microsoft.Compute/virtualMachines/instance-1")!;
        Require(id.GetType().GetProperty("ResourceGroupName")!.GetValue(id) as string == "shellbox-rg", "ResourceIdentifier did not parse");
        var location = Activator.CreateInstance(core.GetType("Azure.Core.AzureLocation", throwOnError: true)!, "westeurope")!;

        var identity = engine.LoadFromAssemblyName(new AssemblyName("Azure.Identity"));
        // The credential an Automation runbook uses (it reads IDENTITY_ENDPOINT only when asked for a token).
        var systemAssigned = identity.GetType("Azure.Identity.ManagedIdentityId", throwOnError: true)!.GetProperty("SystemAssigned")!.GetValue(null)!;
        Activator.CreateInstance(identity.GetType("Azure.Identity.ManagedIdentityCredential", throwOnError: true)!, systemAssigned);

        var tables = engine.LoadFromAssemblyName(new AssemblyName("Azure.Data.Tables"));
        var entity = Activator.CreateInstance(tables.GetType("Azure.Data.Tables.TableEntity", throwOnError: true)!, "pool", "instance-1")!;
        Require(entity.GetType().GetProperty("RowKey")!.GetValue(entity) as string == "instance-1", "TableEntity lost its row key");

        var compute = engine.LoadFromAssemblyName(new AssemblyName("Azure.ResourceManager.Compute"));
        var vm = Activator.CreateInstance(compute.GetType("Azure.ResourceManager.Compute.VirtualMachineData", throwOnError: true)!, location)!;
        Require(vm.GetType().GetProperty("Location")!.GetValue(vm)?.ToString() == "westeurope", "VirtualMachineData lost its location");

        foreach (var assembly in new[] { core, identity, tables, compute })
        {
            Require(AssemblyLoadContext.GetLoadContext(assembly) == engine && Path.GetDirectoryName(assembly.Location) == dependencies,
                $"{assembly.GetName().Name} did not load from the module's dependencies");
        }
    }

    private static void Require(bool condition, string failure)
    {
        if (!condition)
        {
            throw new InvalidOperationException(failure);
        }
    }
}
