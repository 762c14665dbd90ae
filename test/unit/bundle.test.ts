// Reading a bundle: what checkSpec changes before the schema sees the config. No root needed.
import t from 'tap';
import { checkSpec } from '../../src/lifecycle/bundle';
import { defaultSpec } from '../../src/lifecycle/spec';

t.test("linux.devices fileMode: the type bits of the device's own type are dropped, others are an error", async (t) => {
  const withDevice = (type: string, fileMode: number): unknown => {
    const s = defaultSpec(false) as unknown as { linux: { devices: unknown[] } };
    s.linux.devices = [{ path: '/dev/x', type, major: 1, minor: 3, fileMode }];
    return s;
  };
  const mode = (type: string, fileMode: number): number | undefined => checkSpec(withDevice(type, fileMode)).linux!.devices![0]!.fileMode;
  t.equal(mode('c', 8612), 0o644, 'podman --privileged: 8612 = 0o20644');
  t.equal(mode('u', 0o20666), 0o666);
  t.equal(mode('b', 0o60660), 0o660);
  t.equal(mode('p', 0o10600), 0o600);
  t.equal(mode('c', 0o644), 0o644, 'no type bits: as it was');
  t.throws(
    () => checkSpec(withDevice('b', 0o20644)),
    /^config\.json: linux\.devices\[0\]\.fileMode: the file type bits 0o20000 are not those of a "b" device$/,
  );
  t.throws(() => checkSpec(withDevice('c', 0o100644)), /linux\.devices\[0\]\.fileMode: the file type bits 0o100000/);
  t.throws(() => checkSpec(withDevice('c', 0o4777)), /fileMode/, "set-id bits are still the schema's business");
});

t.test('ociVersion: SemVer 2.0.0 and a 1.x version, or an error naming the field', async (t) => {
  const withVersion = (v: string): unknown => ({ ...defaultSpec(false), ociVersion: v });
  for (const v of ['1.3.0', '1.0.0', '1.0.2-dev', '1.1.0-rc.1', '1.2.1+build.5', '1.9.0']) {
    t.equal(checkSpec(withVersion(v)).ociVersion, v, `${v} is accepted`);
  }
  for (const v of ['invalid', '1.0', '1', '01.0.0', '1.0.0-', 'v1.0.0', '1.0.0 ', '']) {
    t.throws(
      () => checkSpec(withVersion(v)),
      new RegExp(`^config\\.json: ociVersion: ${JSON.stringify(v).replace(/[.+]/g, '\\$&')} is not a SemVer 2\\.0\\.0 version$`),
      `${JSON.stringify(v)} is refused`,
    );
  }
  for (const v of ['2.0.0', '0.5.0', '10.1.0']) {
    t.throws(
      () => checkSpec(withVersion(v)),
      /^config\.json: ociVersion: "[\d.]+" is not a 1\.x version of the runtime-spec \(runt implements 1\.3\.0\)$/,
      `${v} is refused`,
    );
  }
});
