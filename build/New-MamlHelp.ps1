<#
.SYNOPSIS
    Turns the cmdlet assembly's XML documentation into MAML help (Get-Help, Get-Help -Examples).
.DESCRIPTION
    Each cmdlet class documents itself: <para type="synopsis">, <para type="description">, one
    <example><code> per example, and a summary on each parameter property. This writes them as
    <AssemblyName>.dll-Help.xml, which PowerShell reads for compiled cmdlets.
#>
param(
    [Parameter(Mandatory)] [string] $AssemblyPath,
    [Parameter(Mandatory)] [string] $XmlDocPath,
    [Parameter(Mandatory)] [string] $OutputPath
)

$ErrorActionPreference = 'Stop'
$docs = [xml](Get-Content -Raw $XmlDocPath)
$members = @{}
foreach ($m in $docs.doc.members.member) { $members[$m.name] = $m }

function Text($node) {
    $raw = if ($null -eq $node) { '' } elseif ($node -is [string]) { $node } else { (@($node) | ForEach-Object { $_.InnerText }) -join ' ' }
    ($raw -replace '\s+', ' ').Trim()
}
function Esc([string] $s) { [Security.SecurityElement]::Escape($s) }

# The build session loads the cmdlet assembly only to read its metadata; tests run in child sessions.
$sb = [Text.StringBuilder]::new()
[void]$sb.AppendLine('<?xml version="1.0" encoding="utf-8"?>')
[void]$sb.AppendLine('<helpItems schema="maml" xmlns="http://msh">')

$types = [System.Reflection.Assembly]::LoadFile($AssemblyPath).GetExportedTypes() 2>$null
foreach ($type in $types | Where-Object { $_.GetCustomAttributesData() | Where-Object { $_.AttributeType.Name -eq 'CmdletAttribute' } } | Sort-Object Name) {
    $attr = $type.GetCustomAttributesData() | Where-Object { $_.AttributeType.Name -eq 'CmdletAttribute' }
    $verb = [string]$attr.ConstructorArguments[0].Value
    $noun = [string]$attr.ConstructorArguments[1].Value
    $doc = $members["T:$($type.FullName)"]
    $paras = @($doc['summary'].SelectNodes('para'))
    $synopsis = Text ($paras | Where-Object { $_.GetAttribute('type') -eq 'synopsis' })
    $description = Text ($paras | Where-Object { $_.GetAttribute('type') -eq 'description' })
    if (-not $description) { $description = $synopsis }
    [void]$sb.AppendLine('<command:command xmlns:maml="http://schemas.microsoft.com/maml/2004/10" xmlns:command="http://schemas.microsoft.com/maml/dev/command/2004/10" xmlns:dev="http://schemas.microsoft.com/maml/dev/2004/10">')
    [void]$sb.AppendLine("<command:details><command:name>$verb-$noun</command:name><command:verb>$verb</command:verb><command:noun>$noun</command:noun>")
    [void]$sb.AppendLine("<maml:description><maml:para>$(Esc $synopsis)</maml:para></maml:description></command:details>")
    [void]$sb.AppendLine("<maml:description><maml:para>$(Esc $description)</maml:para></maml:description>")
    [void]$sb.AppendLine('<command:parameters>')
    foreach ($property in $type.GetProperties() | Sort-Object Name) {
        $parameter = $property.GetCustomAttributesData() | Where-Object { $_.AttributeType.Name -eq 'ParameterAttribute' } | Select-Object -First 1
        if (-not $parameter) { continue }
        $named = @{}; foreach ($a in $parameter.NamedArguments) { $named[$a.MemberName] = $a.TypedValue.Value }
        $declaring = $property.DeclaringType.FullName
        $pmember = $members["P:$declaring.$($property.Name)"]
        $pdoc = if ($pmember) { Text $pmember['summary'] } else { '' }
        $position = if ($named.ContainsKey('Position')) { $named['Position'] } else { 'named' }
        $pipeline = if ($named['ValueFromPipeline']) { 'true (ByValue)' } elseif ($named['ValueFromPipelineByPropertyName']) { 'true (ByPropertyName)' } else { 'false' }
        [void]$sb.AppendLine("<command:parameter required=`"$(([bool]$named['Mandatory']).ToString().ToLower())`" globbing=`"false`" pipelineInput=`"$pipeline`" position=`"$position`">")
        [void]$sb.AppendLine("<maml:name>$($property.Name)</maml:name><maml:description><maml:para>$(Esc $pdoc)</maml:para></maml:description>")
        [void]$sb.AppendLine("<command:parameterValue required=`"true`">$($property.PropertyType.Name)</command:parameterValue></command:parameter>")
    }
    [void]$sb.AppendLine('</command:parameters><command:examples>')
    $n = 0
    foreach ($example in @($doc.SelectNodes('example'))) {
        $n++
        [void]$sb.AppendLine("<command:example><maml:title>-------------------------- Example $n --------------------------</maml:title>")
        [void]$sb.AppendLine("<dev:code>$(Esc (Text $example['code']))</dev:code><dev:remarks><maml:para></maml:para></dev:remarks></command:example>")
    }
    [void]$sb.AppendLine('</command:examples></command:command>')
}
[void]$sb.AppendLine('</helpItems>')
New-Item -ItemType Directory -Force (Split-Path $OutputPath) | Out-Null
Set-Content -Path $OutputPath -Value $sb.ToString() -Encoding utf8
